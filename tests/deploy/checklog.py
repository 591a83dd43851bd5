"""What every deploy check prints: one `ok:` or `FAIL:` line per check, then the count of
failures, which is also the exit status (0 when none)."""

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL: {msg}")


def ok(msg):
    print(f"ok: {msg}")


def summary():
    print(f"\n{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0
