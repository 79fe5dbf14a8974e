"""linkage and synth are plain libraries: a partner or a Spark worker runs them without Django."""

import subprocess
import sys

BLOCK_DJANGO = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'django' or name.startswith('django.'):\n"
    "            raise ImportError('Django must not be imported here: ' + name)\n"
    "sys.meta_path.insert(0, Block())\n"
)


def test_linkage_and_synth_import_without_django() -> None:
    code = BLOCK_DJANGO + (
        "import importlib, pkgutil, kinfold.linkage, kinfold.synth\n"
        "for pkg in (kinfold.linkage, kinfold.synth):\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if info.name.endswith('.spark'):\n"
        "            continue  # the Spark runner needs pyspark, not Django\n"
        "        importlib.import_module(info.name)\n"
        "import kinfold.cli, kinfold.quarters, kinfold.errors\n"
        "import kinfold.ingest.cli, kinfold.ingest.partner, kinfold.ingest.bundle\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_plain_cli_answers_help_without_django() -> None:
    code = BLOCK_DJANGO + "from kinfold.cli import main\nraise SystemExit(main(['--help']))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "hub commands" in result.stdout
    for partner_command in ("encode", "bundle", "link", "synth"):
        assert partner_command in result.stdout
