"""Each job's command line takes only its own flags and Beam's, although Beam parses every
command line with one parser built from all the jobs' PipelineOptions classes."""
import pytest

from beam_jobs import convert_vectors, prepare_pretraining
from beam_jobs.options import parse_options as parse_annotate

IO = ["--input", "in.jsonl", "--output", "out"]


@pytest.mark.parametrize("parse, argv, foreign", [
    (parse_annotate, IO + ["--model", "blank:en", "--prune", "5"], "--prune"),
    (parse_annotate, IO + ["--model", "blank:en", "--split-sentences"], "--split-sentences"),
    (convert_vectors.parse_options, IO + ["--model", "blank:en"], "--model"),
    (convert_vectors.parse_options, IO + ["--keep-text"], "--keep-text"),
    (prepare_pretraining.parse_options, IO + ["--prune", "3"], "--prune"),
    (prepare_pretraining.parse_options, IO + ["--keep-text"], "--keep-text"),
])
def test_another_jobs_flag_is_refused_by_name(parse, argv, foreign):
    with pytest.raises(ValueError, match=f"Not an option of this job: {foreign} "):
        parse(argv)


@pytest.mark.parametrize("parse, argv", [
    (parse_annotate, IO + ["--model", "blank:en", "--overwrite", "--runner=DirectRunner"]),
    (convert_vectors.parse_options, IO + ["--prune", "3", "--overwrite"]),
    (prepare_pretraining.parse_options, IO + ["--overwrite", "--direct_num_workers=2"]),
])
def test_shared_and_beam_flags_are_taken(parse, argv):
    parse(argv)
