"""What a service printed when all went well: notices go to stdout, anything else to stderr, where it
makes the log a WARNING; a command that fails fails the script with all it said. Run by bash with
each awk a Debian server may have."""

import shutil
import subprocess

import pytest

from portal.orchestration.backends.nginx import CHECK_NOTICES, RELOAD_NOTICES
from portal.orchestration.backends.phpfpm import NOTICES as FPM_NOTICES
from portal.orchestration.backends.staged import SAID, said
from portal.orchestration.script import Script, q

AWKS = [name for name in ("mawk", "gawk") if shutil.which(name)]


def run(command: str, notices: str, awk: str) -> subprocess.CompletedProcess[str]:
    script = Script()
    script.add(f'awk() {{ command {awk} "$@"; }}')  # the server's one awk, as Debian's alternatives pick it
    script.add(SAID)
    script.add(said(command, notices))
    return subprocess.run(["bash", "-s"], input=script.text, capture_output=True, text=True, timeout=30)


def printed(*lines: str) -> str:
    return "{ printf '%s\\n' " + " ".join(q(line) for line in lines) + " >&2; }"


@pytest.fixture(params=AWKS)
def awk(request):
    return request.param


def test_nginx_notices_are_no_warning(awk):
    done = run(
        printed(
            "nginx: the configuration file /srv/nginx/nginx.conf syntax is ok",
            "nginx: configuration file /srv/nginx/nginx.conf test is successful",
            "2026/12/03 08:36:09 [notice] 20500#20500: signal process started",
            "",
        ),
        CHECK_NOTICES,
        awk,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert "signal process started" in done.stdout and "test is successful" in done.stdout


def test_a_real_warning_reaches_stderr(awk):
    warn = 'nginx: [warn] conflicting server name "shop.test" on 127.0.0.1:80, ignored'
    done = run(printed("2026/12/03 [notice] 1#1: signal process started", warn), CHECK_NOTICES, awk)
    assert done.returncode == 0 and done.stderr == warn + "\n"
    # The reload repeats the check's warnings: they were said once already.
    assert run(printed(warn), RELOAD_NOTICES, awk).stderr == ""


def test_php_fpm_notice_and_warning(awk):
    ok = "[03-Dec-2026 08:36:25] NOTICE: configuration file /etc/php-fpm.conf test is successful"
    warning = "[03-Dec-2026 08:36:25] WARNING: [pool a] pm.max_children is low"
    done = run(printed(ok, warning), FPM_NOTICES, awk)
    assert done.stdout == ok + "\n" and done.stderr == warning + "\n"


def test_a_failing_command_fails_with_all_it_said(awk):
    done = run(printed("2026/12/03 [notice] 1#1: signal process started", "[error] no pid") + " && false", "x", awk)
    assert done.returncode == 1
    assert "signal process started" in done.stderr and "[error] no pid" in done.stderr


def test_no_notices_means_everything_is_said(awk):
    done = run(printed("anything at all"), "", awk)
    assert done.returncode == 0 and done.stderr == "anything at all\n"
