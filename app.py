"""Start the kratom information web app: ``python app.py`` (http://127.0.0.1:7860 by default)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
