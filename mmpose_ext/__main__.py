"""``python -m mmpose_ext TOOL [ARGS]``: run one of the package's tools.

The tools (``tools/`` in the checkout, ``mmpose_ext/.mim/tools`` in an
installed wheel) are found through :mod:`mmpose_ext.package_files`, so an
installed package runs them without its checkout::

    python -m mmpose_ext train my_config.py --work-dir work_dirs/x
    python -m mmpose_ext test my_config.py epoch_210.pth
    python -m mmpose_ext make_synthetic_coco --out data/synthetic_coco
    python -m mmpose_ext analysis/model_complexity CONFIG
    python -m mmpose_ext --list

The package is imported first, so a config may name package configs as
bases by scope (``mmpose_ext::cpn/...``).
"""
import runpy
import sys
from typing import Optional, Sequence

from .package_files import PackageFilesNotFound, tool_names, tool_path


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ('-h', '--help', '--list'):
        print(__doc__.split('\n\n')[0] + '\n\ntools: ' +
              ', '.join(tool_names()))
        return
    try:
        path = tool_path(argv[0])
    except PackageFilesNotFound as err:
        raise SystemExit(f'python -m mmpose_ext: {err}') from None
    saved = sys.argv
    sys.argv = [str(path), *argv[1:]]
    try:
        runpy.run_path(str(path), run_name='__main__')
    finally:
        sys.argv = saved


if __name__ == '__main__':
    main()
