"""The mini project: a small Flask app, run by gunicorn in the production image."""

import json
import os

from flask import Flask

DEFAULT_GREETING = "Hello from Flask in Docker!"

# instance/config.json is optional: the production image's entrypoint writes it at start.
app = Flask(__name__, instance_relative_config=True)
app.config.from_file("config.json", load=json.load, silent=True)


@app.get("/")
def index():
    greeting = app.config.get("GREETING") or DEFAULT_GREETING
    return greeting + "\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/healthz")
def healthz():
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


if __name__ == "__main__":
    # Flask's development server: fine for trying things, not for production.
    # Inside a container it must listen on 0.0.0.0, or nothing outside can reach it.
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
