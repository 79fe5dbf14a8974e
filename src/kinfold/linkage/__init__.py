"""Privacy-preserving record linkage on keyed Bloom-filter encodings. No Django.

At a partner::

    from kinfold.linkage import ColumnMap, encode, read_rows, read_secret
    column_map = ColumnMap.parse("given_name=FORENAME,surname=SURNAME,dob=DOB:%d/%m/%Y,id=REF")
    table = encode(read_rows("extract.csv", column_map), column_map, read_secret("secret.key"),
                   source="police")
    table.write("police.kfe")

At the hub (encodings only; the hub never holds the secret)::

    from kinfold.linkage import EncodedTable, PersonIndex, link, resolve_persons
    links = link(EncodedTable.read("police.kfe"), EncodedTable.read("schools.kfe"))
    result = resolve_persons(tables, PersonIndex.read("persons.idx"), quarter="2015Q2")
    result.index.write("persons.idx")

docs/linkage.md explains the method, the settings, the file formats and the hardening options.
"""

from kinfold.linkage._api import Clusters, dedupe, link
from kinfold.linkage._blocking import BlockingStats
from kinfold.linkage._columns import ColumnMap, FieldSource, parse_date
from kinfold.linkage._encode import BadValue, EncodeReport, encode
from kinfold.linkage._evaluate import Accuracy, cluster_accuracy, cluster_pairs, pair_accuracy
from kinfold.linkage._households import Households, households, near_remembered
from kinfold.linkage._io import read_rows
from kinfold.linkage._keys import check_secret, key_id, new_secret, pseudonym, read_secret
from kinfold.linkage._link import Links
from kinfold.linkage._model import FellegiSunter
from kinfold.linkage._persons import Births, PersonIndex, Resolution, resolve_persons
from kinfold.linkage._settings import BlockingPass, FieldSettings, Settings
from kinfold.linkage._table import EncodedTable, TableHeader, concatenate

__all__ = [
    "Accuracy",
    "BadValue",
    "Births",
    "BlockingPass",
    "BlockingStats",
    "Clusters",
    "ColumnMap",
    "EncodeReport",
    "EncodedTable",
    "FellegiSunter",
    "FieldSettings",
    "FieldSource",
    "Households",
    "Links",
    "PersonIndex",
    "Resolution",
    "Settings",
    "TableHeader",
    "check_secret",
    "cluster_accuracy",
    "cluster_pairs",
    "concatenate",
    "dedupe",
    "encode",
    "households",
    "key_id",
    "link",
    "near_remembered",
    "new_secret",
    "pair_accuracy",
    "parse_date",
    "pseudonym",
    "read_rows",
    "read_secret",
    "resolve_persons",
]
