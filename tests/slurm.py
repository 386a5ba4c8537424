"""A real single-node Slurm on this machine, for tests and benchmarks that submit jobs.

``start_slurm(root)`` starts ``munged``, ``slurmctld`` and ``slurmd`` as the current user,
from a ``slurm.conf`` generated under ``root``: one node (this host, with the CPUs and memory
that ``slurmd -C`` reports), one partition ``cpu`` (the partition glassworks' sbatch scripts
ask for), fresh ports, a fresh munge key, and plugins that need no cgroups
(proctrack/linuxproc, task/none), so it runs as root in an unprivileged container. It returns
once ``sinfo`` shows the node idle. Commands reach it through ``cluster.env`` (``SLURM_CONF``
set); jobs inherit that environment, so a job runs on the submitter's Python.

Tests get one per session through the ``slurm`` fixture of ``tests/conftest.py`` (skipped
where Slurm is not installed, failed under CI=true). A glassworks submitter runs with
``env=slurm.env`` and ``cwd=tmp_path``, so its jobs can be found by their working directory::

    def test_tokenize_on_slurm(slurm, tmp_path):
        subprocess.run([..., "data", "build", CONFIG, "--workdir", run, "--executor", "slurm"],
                       env=slurm.env, cwd=tmp_path, check=True)
        slurm.wait(*slurm.jobs_from(tmp_path))   # raises, with the jobs' output, if one failed
        # then the same command with --executor local records the stage

    def test_training_under_sbatch(slurm, tmp_path):
        script = tmp_path / "train.sbatch"  # "#!/bin/bash", "#SBATCH --cpus-per-task=2",
        script.write_text(...)              # "torchrun --standalone --nproc-per-node=2 -m glassworks.cli train ..."
        slurm.wait(slurm.sbatch(script, f"--output={tmp_path}/train.out"))

The node has this host's CPUs (2 on a small CI runner): a job asks for at most that many.
``python tests/slurm.py DIR`` starts one by hand (for ``bench/``) and prints the
``SLURM_CONF`` to export; Ctrl-C stops it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
COMMANDS = ("sinfo", "sbatch", "squeue", "scontrol", "scancel", "srun")
PARTITION = "cpu"  # the default of glassworks.pipeline.executors.SlurmOptions


def missing_binaries() -> list[str]:
    """The Slurm and munge programs this machine lacks (Debian: apt-get install slurm-wlm munge)."""
    return [name for name in DAEMONS + COMMANDS if _which(name) is None]


def _which(name: str) -> str | None:
    # the daemons live in /usr/sbin, which a non-root PATH often lacks
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return f"--- {path.name}: (absent)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- {path.name} (last {len(text)} lines):\n" + "\n".join(text)


class SlurmError(RuntimeError):
    """The cluster did not start, or a job did not finish well; the message holds the logs."""


@dataclass
class LocalSlurm:
    """A running single-node cluster: its files, the environment that reaches it, its daemons."""

    root: Path  # slurm.conf, state, spool and every log
    conf: Path
    node: str
    env: dict[str, str]  # os.environ plus SLURM_CONF: pass to subprocess calls and submitters
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a Slurm command against this cluster; its output as text."""
        done = subprocess.run([_which(args[0]) or args[0], *args[1:]], env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode:
            raise SlurmError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()}\n{self.logs()}")
        return done

    def sbatch(self, script: Path, *args: str) -> str:
        """Submit a batch script; its job id."""
        return self.run("sbatch", "--parsable", *args, str(script)).stdout.strip().split(";")[0]

    def wait(self, *jobs: str, timeout: float = 120) -> None:
        """Wait until the given jobs (all of this cluster's, if none) have left the queue; then, for
        the given ones, raise if one of them (or one of their array tasks) did not complete."""
        deadline = time.monotonic() + timeout
        while True:
            queued = self.run("squeue", "-h", "-o", "%i %T %r", *(["-j", ",".join(jobs)] if jobs else [])).stdout
            if not queued.strip():
                break
            if "DependencyNeverSatisfied" in queued:
                raise SlurmError(f"a dependency failed:\n{queued}\n{self.logs()}")
            if time.monotonic() > deadline:
                raise SlurmError(f"jobs still queued after {timeout:.0f}s:\n{queued}\n{self.logs()}")
            self._check_alive()
            time.sleep(0.5)
        if jobs:  # finished jobs stay in slurmctld's memory for MinJobAge seconds
            shown = "".join(self.run("scontrol", "-o", "show", "job", job).stdout for job in jobs)
            failed = [line for line in shown.splitlines() if "JobState=COMPLETED" not in line]
            if failed:
                outputs = {f.split("=", 1)[1] for line in failed for f in line.split() if f.startswith("StdOut=")}
                raise SlurmError("jobs did not complete:\n" + "\n".join(failed + [_tail(Path(o)) for o in sorted(outputs)]))

    def jobs_from(self, workdir: Path) -> list[str]:
        """The ids of the jobs submitted from ``workdir`` (their working directory), oldest first:
        how a test finds the jobs a submitter such as ``corpus run --executor slurm`` launched."""
        shown = self.run("scontrol", "-o", "show", "job", check=False).stdout  # "No jobs" when none
        wanted = f"WorkDir={Path(workdir).resolve()}"
        ids = set()
        for line in shown.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            if f"WorkDir={fields.get('WorkDir')}" == wanted:  # an array task counts as its array job
                ids.add(fields.get("ArrayJobId", fields["JobId"]))
        return sorted(ids, key=int)

    def logs(self) -> str:
        """The last lines of every daemon's log: what a start or job failure message shows."""
        # a daemon that died before opening its LogFile said why on stderr (NAME.out)
        return "\n".join(_tail(self.root / f"{name}.log") if (self.root / f"{name}.log").exists()
                         else _tail(self.root / f"{name}.out") for name in DAEMONS)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SlurmError(f"{name} exited with status {process.returncode}\n{self.logs()}")

    def stop(self) -> None:
        """Cancel every job, then end the daemons (TERM, then KILL after 10 s). Safe to call twice."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            try:  # a hung controller must not keep the daemons alive: the kills below always run
                self.run("scancel", "--user", pwd.getpwuid(os.getuid()).pw_name, check=False, timeout=10)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and self.run("squeue", "-h", check=False, timeout=10).stdout.strip():
                    time.sleep(0.3)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(list(self.processes.values())):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


def _node_line() -> tuple[str, str]:
    """This host as ``slurmd -C`` sees it: its name and the NodeName line of slurm.conf."""
    shown = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, timeout=30)
    first = shown.stdout.splitlines()[0] if shown.stdout else ""
    if shown.returncode or not first.startswith("NodeName="):
        raise SlurmError(f"slurmd -C failed ({shown.returncode}): {shown.stderr.strip()}")
    name = first.split()[0].split("=", 1)[1]
    return name, re.sub(r"^NodeName=\S+", f"NodeName={name} NodeAddr=127.0.0.1", first)


def write_conf(root: Path, node_line: str, user: str, munge_socket: Path) -> Path:
    """The slurm.conf of a one-node cluster whose every file lives under ``root``."""
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(f"""\
ClusterName=glassworks
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups: they are not writable in an unprivileged container
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# the node's real size, but never drained for reporting less than configured
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=600
{node_line} State=UNKNOWN
PartitionName={PARTITION} Nodes={node_line.split()[0].split("=")[1]} Default=YES MaxTime=INFINITE State=UP
""")
    return conf


def start_slurm(root: Path, timeout: float = 60) -> LocalSlurm:
    """Start munged, slurmctld and slurmd under ``root`` and wait until the node is idle.

    Raises ``SlurmError`` with the daemons' log tails if they exit or the node is not idle
    within ``timeout`` seconds; the daemons already started are stopped first.
    """
    missing = missing_binaries()
    if missing:
        raise SlurmError(f"not installed: {', '.join(missing)} (Debian: apt-get install slurm-wlm munge)")
    root = Path(root).resolve()
    for sub in ("munge", "state", "spool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(128))  # a munge key is random bytes; 128 is munge's own default size
    key.chmod(0o600)
    socket_path = root / "munge" / "socket"
    if len(str(socket_path)) > 100:
        raise SlurmError(f"{root} is too long a path for the munge socket (unix sockets: 107 bytes)")
    user = pwd.getpwuid(os.getuid()).pw_name
    node, node_line = _node_line()
    conf = write_conf(root, node_line, user, socket_path)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    cluster = LocalSlurm(root=root, conf=conf, node=node, env=env)
    commands = {
        # --force: munged refuses root and world-writable /tmp ancestors without it
        "munged": [_which("munged"), "--foreground", "--force", f"--socket={socket_path}", f"--key-file={key}",
                   f"--pid-file={root / 'munge' / 'munged.pid'}",
                   f"--seed-file={root / 'munge' / 'seed'}"],
        "slurmctld": [_which("slurmctld"), "-D", "-c", "-f", str(conf)],  # -c: no state from a former run
        "slurmd": [_which("slurmd"), "-D", "-f", str(conf)],
    }
    try:
        for name, command in commands.items():
            # munged in the foreground logs to stderr; the Slurm daemons write their LogFile
            with open(root / (f"{name}.log" if name == "munged" else f"{name}.out"), "wb") as out:
                cluster.processes[name] = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                           start_new_session=True)
            if name == "munged":
                _wait_for(lambda: socket_path.exists(), cluster, timeout, "munged did not create its socket")
        _wait_for(lambda: cluster.run("sinfo", "-h", "-N", "-n", node, "-o", "%T", check=False).stdout.strip() == "idle",
                  cluster, timeout, f"node {node} not idle")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_for(ready, cluster: LocalSlurm, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        cluster._check_alive()
        if time.monotonic() > deadline:
            state = cluster.run("sinfo", "-N", "-l", check=False)
            raise SlurmError(f"{what} after {timeout:.0f}s; sinfo: {state.stdout.strip() or state.stderr.strip()}\n"
                             + cluster.logs())
        time.sleep(0.3)


if __name__ == "__main__":
    cluster = start_slurm(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/glassworks-slurm"))
    print(f"export SLURM_CONF={cluster.conf}", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill PID stops the daemons as Ctrl-C does
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
