"""Install the pinned front-end assets into app/static/vendor (never committed).

Bootstrap comes with the Bootstrap-Flask Python package (served locally). htmx and Apache
ECharts are pinned in package.json / package-lock.json and installed with npm from the
package registry when npm is available. Pages work without them (charts fall back to
tables, forms to plain posts), so a machine without Node.js still runs everything.

The CJK font for compiled PDFs (材料汇编, 汇总报告) is Noto Sans SC (SIL Open Font License
1.1), TrueType outlines as reportlab needs them, from the npm package
@expo-google-fonts/noto-sans-sc; it lands in app/static/vendor/fonts and is never
committed. Without it PDF compiles fail with a Chinese message naming this command.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "app" / "static" / "vendor"
FILES = {  # package -> (file inside the package, target under vendor/)
    "htmx.org": ("dist/htmx.min.js", "htmx/htmx.min.js"),
    "echarts": ("dist/echarts.min.js", "echarts/echarts.min.js"),
    "@expo-google-fonts/noto-sans-sc": ("400Regular/NotoSansSC_400Regular.ttf", "fonts/NotoSansSC-Regular.ttf"),
    "@expo-google-fonts/noto-sans-sc#bold": ("700Bold/NotoSansSC_700Bold.ttf", "fonts/NotoSansSC-Bold.ttf"),
    "@expo-google-fonts/noto-sans-sc#license": ("LICENSE_FONT", "fonts/OFL.txt"),
}


def installed() -> bool:
    return all((VENDOR / target).exists() for _, target in FILES.values()) and _stamp().exists() and \
        _stamp().read_text() == _lock_hash()


def _stamp() -> Path:
    return VENDOR / ".lock-hash"


def _lock_hash() -> str:
    import hashlib

    return hashlib.sha1((ROOT / "package-lock.json").read_bytes()).hexdigest()


def main() -> int:
    if installed():
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("! 未找到 npm：跳过 htmx/ECharts 和 PDF 中文字体（页面仍可使用，图表以表格显示；PDF 汇编不可用）"
              "(npm not found: optional assets and the PDF font skipped)")
        return 0
    print("→ 安装前端资源和 PDF 中文字体 (npm ci: htmx, echarts, Noto Sans SC)")
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT)
    if result.returncode != 0:
        print("! npm ci 失败：跳过可选前端资源 (npm ci failed; optional assets skipped)")
        return 0
    for key, (source, target) in FILES.items():
        package = key.split("#")[0]
        dest = VENDOR / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(dest.suffix + ".part")
        shutil.copyfile(ROOT / "node_modules" / package / source, tmp)
        tmp.replace(dest)
        version = json.loads((ROOT / "node_modules" / package / "package.json").read_text())["version"]
        print(f"  {package} {version} → app/static/vendor/{target}")
    _stamp().write_text(_lock_hash())
    return 0


if __name__ == "__main__":
    sys.exit(main())
