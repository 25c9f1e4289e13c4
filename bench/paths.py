"""Where the benchmark finds the project and writes its results."""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
LUA_DIR = BENCH_DIR / "lua"
DOCS_DIR = PROJECT_DIR / "docs"
