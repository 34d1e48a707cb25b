"""nlp_core.malloc.set_malloc: glibc's mallopt from Python, in a child process (the
settings are process-wide); elsewhere than Linux it sets nothing and returns False."""
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys
from nlp_core.malloc import set_malloc
print(json.dumps({
    "set": set_malloc(mmap_threshold=1 << 20, trim_threshold=64 << 20, arena_max=4),
    "left_to_env": set_malloc(trim_threshold=1 << 20, respect_environment=True),
}))
"""


def run_child(env):
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          env=env, timeout=60, check=True)
    return json.loads(proc.stdout)


def test_settings_apply_and_the_environment_wins():
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    found = run_child(env)
    if not sys.platform.startswith("linux"):  # no glibc: nothing is set, and it says so
        assert found == {"set": False, "left_to_env": False}
        return
    assert found == {"set": True, "left_to_env": True}
    found = run_child({**env, "MALLOC_ARENA_MAX": "2"})
    assert found["left_to_env"] is False and found["set"] is True
