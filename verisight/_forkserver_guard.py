"""Imported only by the scan pool's forkserver (as a preload module): it dies with the scan.

Without this, a scan killed with SIGKILL leaves its forkserver (and so the resource
tracker, which waits for the forkserver's end of its pipe) running for ever. Never import
this module anywhere else: it would tie the importing process to its parent's life.
"""

from verisight.derived import die_with_parent

die_with_parent()
