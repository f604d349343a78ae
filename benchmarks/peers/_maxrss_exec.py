"""Run a command and write its peak resident memory (ru_maxrss, KiB) to a file: ``_maxrss_exec.py FILE CMD...``.

Brian2's C++ standalone runs its ``main`` binary through this, so the benchmark reports the simulation's memory and
not the compiler's. Exits with the command's exit status.
"""

import os
import subprocess
import sys


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    with open(out, "w") as f:
        f.write(str(usage.ru_maxrss))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
