"""job_runner.skip_ipython_probe: Beam's "am I in IPython?" question answered without
importing IPython while no IPython shell can be running, and asked as before once one can."""
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import sys, types
    import apache_beam as beam
    from apache_beam import pipeline
    from apache_beam.runners.direct import direct_runner
    from apache_beam.utils import interactive_utils
    from beam_jobs.job_runner import skip_ipython_probe

    skip_ipython_probe()
    skip_ipython_probe()  # a second call does not wrap the wrapper
    assert pipeline.is_in_ipython.__closure__[0].cell_contents.__module__ == \\
        "apache_beam.utils.interactive_utils"
    with beam.Pipeline(runner="FnApiRunner") as p:
        _ = p | "One" >> beam.Create([1]) | "Same" >> beam.Map(lambda x: x)
    assert not interactive_utils.is_in_notebook()
    assert not pipeline.is_in_ipython() and not direct_runner.is_in_ipython()
    print("imported after a pipeline:", "IPython" in sys.modules)

    shell = types.ModuleType("IPython")  # a running shell: the original probe answers
    shell.get_ipython = lambda: object()
    sys.modules["IPython"] = shell
    print("asked once imported:", pipeline.is_in_ipython(),
          interactive_utils.is_in_ipython(), direct_runner.is_in_ipython())
""")


def test_beam_does_not_import_ipython_and_still_asks_a_running_one():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines == ["imported after a pipeline: False",
                     "asked once imported: True True True"], done.stdout
