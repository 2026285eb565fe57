"""PASS/FAIL lines and the closing count, shared by the check scripts.

    from checks import check, summary
    check("what holds", ok, "detail when it does not")
    ...
    return summary()      # prints "N passed, M failed"; 1 when any failed, else 0
"""

_counts = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    """Prints PASS or FAIL with the check's name (and `detail`), and counts it."""
    _counts["passed" if ok else "failed"] += 1
    print(("PASS " if ok else "FAIL ") + name + (f": {detail}" if detail else ""), flush=True)


def summary():
    """Prints the closing count; the exit status to return (1 when any check failed)."""
    print(f"{_counts['passed']} passed, {_counts['failed']} failed")
    return 1 if _counts["failed"] else 0
