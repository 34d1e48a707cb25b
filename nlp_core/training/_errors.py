"""Error and warning messages of training and evaluation (codes E400-E449, W400-W449).

They follow the project's catalogue conventions (`nlp_core.errors`): each message names the
input, config key or file, and says what to change. Kept beside the training code until the
owners of `nlp_core/errors.py` fold them into the one catalogue.
"""
from ..errors import _Catalogue


class TrainingErrors(metaclass=_Catalogue):
    E400 = ("Corpus path {path} does not exist{where}. Point it at a corpus file ({formats}) "
            "or a directory of them{hint}.")
    E401 = ("Corpus path {path} holds no corpus files{where}: looked for {formats} (also "
            "gzipped). Convert your data first (`python -m nlp_core convert`), or point the "
            "path at the files.")
    E402 = ("Corpus file {path} holds no documents{where}. Check that it is the file you "
            "meant; convert the data again if it was written by an interrupted run.")
    E403 = ("Corpus file {path} has an unsupported type{where}: expected one of {formats} "
            "(also gzipped). Convert it with `python -m nlp_core convert`.")
    E404 = ("The corpus reader got no path{where}. Set it in the config or on the command "
            "line, e.g. --paths.train train.spacy.")
    E405 = ("The training corpus ({key}) yielded no usable examples{detail}. Check the "
            "path and the reader settings (limit, max_length).")
    E406 = ("Batch size must be a positive int or a schedule, got {size!r} at "
            "[training.batcher] size.")
    E407 = ("[training] {key} = {value!r} is invalid: {reason}")
    E408 = ("[training] {key} names {name!r}, which is not a component of the pipeline "
            "{names}. Use the names from [nlp] pipeline.")
    E409 = ("[training] {key} = {value!r} does not name a reader block in the config. Point "
            "it at the dotted path of a [corpora.*] section, e.g. \"corpora.train\".")
    E410 = ("The score {key!r} of [training.score_weights] was not produced by "
            "nlp.evaluate, which returned: {known}. Use one of those names, or give the "
            "component that produces it.")
    E411 = ("--gpu-id {gpu_id}: cannot use the GPU: {reason}. Install cupy for your CUDA "
            "version (e.g. `pip install cupy-cuda12x`) or train on CPU (--gpu-id -1).")
    E412 = ("--code {path}: {reason}.")
    E413 = ("Output directory {path} exists and is not a directory; give another --output.")
    E414 = ("Evaluation data {path} does not exist. Give a .spacy or .conllu file, or a "
            "directory of them.")
    E415 = ("No model at {path}: expected a directory with config.cfg, as written by "
            "`python -m nlp_core train` (model-best/ or model-last/).")


class TrainingWarnings(metaclass=_Catalogue):
    W400 = ("Skipped {n} document(s) without tokens in {path}; they hold nothing to learn "
            "from or score.")
    W401 = ("Skipped {n} document(s) of {path} whose predicted and gold texts differ, so "
            "their tokens cannot be aligned; first: {first}")
    W402 = ("Skipped {n} sentence(s) of {path} longer than max_length = {max_length} tokens "
            "({n_docs} document(s) without sentence boundaries were skipped whole). Raise "
            "max_length, or set it to 0 to keep every document.")
