"""kinfold: the information system for a family-support programme.

Flags before facts, identity separated from content, facts only with consent or an approved lawful
reason, agreements published as the code that enforces them, every access logged where the family
can see it.
"""

__version__ = "0.1.0"
