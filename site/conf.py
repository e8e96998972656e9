"""Sphinx configuration of the course website (`make site`): the executed notebooks as they
are committed, rendered offline by myst-nb with the book theme; nothing is executed."""

project = "Docker Images & Dockerfiles workbook"
author = "the workbook's authors"
extensions = ["myst_nb"]
exclude_patterns = ["_build"]
nb_execution_mode = "off"  # the notebooks are committed executed; the site shows those outputs
nb_output_stderr = "remove"
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]
html_theme = "sphinx_book_theme"
html_title = "Docker Images & Dockerfiles"
html_static_path: list[str] = []
html_theme_options = {
    "repository_url": "https://github.com/OWNER/REPOSITORY",
    "path_to_docs": "",
    "repository_branch": "main",
    "use_repository_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
}
