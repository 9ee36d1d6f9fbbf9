"""Debian's Chromium for the browser tests: where it is and how it is launched (headless, no
sandbox inside the CI container, nothing phoning home). Never a browser Playwright downloads."""
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
