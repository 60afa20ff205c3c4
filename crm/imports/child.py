"""Entry point of the checker process: ``python -m crm.imports.child`` (see checking.py)."""

from crm.imports.checking import child_main

if __name__ == "__main__":
    child_main()
