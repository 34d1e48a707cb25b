"""The command-line application object; subcommand modules attach themselves to it."""
import typer

app = typer.Typer(
    name="nlp_core",
    help="Train, evaluate and run NLP pipelines; convert corpora. Run a command with --help.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
init_cli = typer.Typer(help="Create configs (init config, init fill-config) and vectors "
                       "pipelines (init vectors).", no_args_is_help=True)
app.add_typer(init_cli, name="init")
