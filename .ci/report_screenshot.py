"""Screenshot one section of a Snakemake report in headless Chromium (Debian package `chromium`):

    python .ci/report_screenshot.py report.html "Table 3" table3.png [paper_tables/table3.csv]

The report is a single-page app; this opens a copy that shows the section's results on load (through the
app's own `showCategory`, and `showResultInfo` for a result's caption), so a reviewer can look at the rendered page without a display."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(report: str, category: str, out: str, result: str = "") -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("report_screenshot: no chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    html = Path(report).read_text()
    head, tag, tail = html.rpartition("</body>")  # the last one: the bundled scripts hold the string too
    show = f"app.showCategory({category!r});" + (f" setTimeout(() => app.showResultInfo({result!r}), 300);" if result else "")
    html = head + f"<script>setTimeout(() => {{ {show} }}, 300)</script>" + tag + tail
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html)
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1400,1400", "--virtual-time-budget=15000", f"--screenshot={Path(out).resolve()}",
                        page.as_uri()], check=True, capture_output=True, timeout=300)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
