"""The command-line application object; subcommand modules attach themselves to it."""
import typer

app = typer.Typer(
    name="nlp_core",
    help="Train, evaluate and run NLP pipelines; convert corpora. Run a command with --help.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts name config sections ("[nlp]", "[pretraining]"): shown as written, not
    # read as Rich markup (which drops them).
    rich_markup_mode=None,
)
init_cli = typer.Typer(help="Create configs (init config, init fill-config) and vectors "
                       "pipelines (init vectors).", no_args_is_help=True,
                       rich_markup_mode=None)
app.add_typer(init_cli, name="init")
