"""The bubblewrap sandbox of every process that runs student code while grading.

The notebook kernel and the judge's worker start as ``bwrap ... -- python -m
autograder.sandbox ...``. One idea per module:

* :mod:`~autograder.sandbox.policy`: what a run allows (:class:`Policy`, :class:`SandboxLimits`,
  the environment reduced to :data:`ENV_ALLOW`);
* :mod:`~autograder.sandbox.binds`: what the sandbox shows, read-only (``/usr``, the Python
  installation, ``rnnref`` minus the answer key, the check-side modules, this package);
* :mod:`~autograder.sandbox.bwrap`: the bwrap command of one sandboxed process (namespaces, no
  network, tmpfs, the writable copy and flags folder) and whether bwrap can run here;
* :mod:`~autograder.sandbox.cgroups`: the process and memory caps, a pids and memory cgroup
  per sandbox when one can be made (``RLIMIT_NPROC`` inside the namespace and ``RLIMIT_AS``
  otherwise, said in the run report by :func:`notes`);
* :mod:`~autograder.sandbox.submission`: the grading child's sandbox of one submission;
* :mod:`~autograder.sandbox.guard`: inside the sandbox, the rlimits and an audit hook that
  writes what the sandbox is about to refuse (a path outside the copy, a socket, a signal to
  another process, the answer key) to the flags folder: reporting for the instructor, not
  security.

Objects that cross processes: :class:`Policy` (a dict in the task, main process -> grading
child), the guard's JSON configuration and its flag lines (child <-> sandbox).

The guard imports this package inside the sandbox: it and its modules import the standard
library only at the top (no jupyter_client, no numpy).
"""

from autograder.sandbox.binds import _shadows as _shadows
from autograder.sandbox.binds import answer_key_files as answer_key_files
from autograder.sandbox.binds import code_roots as code_roots
from autograder.sandbox.bwrap import BWRAP as BWRAP
from autograder.sandbox.bwrap import SANDBOX_ID as SANDBOX_ID
from autograder.sandbox.bwrap import Sandbox as Sandbox
from autograder.sandbox.bwrap import notes as notes
from autograder.sandbox.bwrap import probe as probe
from autograder.sandbox.bwrap import read_flags as read_flags
from autograder.sandbox.bwrap import require as require
from autograder.sandbox.bwrap import tmpfs_unshare as tmpfs_unshare
from autograder.sandbox.cgroups import release_cgroups as release_cgroups
from autograder.sandbox.policy import ENV_ALLOW as ENV_ALLOW
from autograder.sandbox.policy import GUARD_DIR as GUARD_DIR
from autograder.sandbox.policy import HOME as HOME
from autograder.sandbox.policy import MAX_FLAGS as MAX_FLAGS
from autograder.sandbox.policy import MODES as MODES
from autograder.sandbox.policy import REPO as REPO
from autograder.sandbox.policy import Policy as Policy
from autograder.sandbox.policy import SandboxLimits as SandboxLimits
from autograder.sandbox.policy import SandboxUnavailable as SandboxUnavailable
from autograder.sandbox.policy import allowed_env as allowed_env
from autograder.sandbox.policy import policy_for as policy_for
from autograder.sandbox.submission import TMPFS_FULL_FLAG as TMPFS_FULL_FLAG
from autograder.sandbox.submission import UNSANDBOXED as UNSANDBOXED
from autograder.sandbox.submission import activate as activate
from autograder.sandbox.submission import active as active
from autograder.sandbox.submission import finish as finish
from autograder.sandbox.submission import finish_flags as finish_flags
from autograder.sandbox.submission import wrap_worker as wrap_worker
