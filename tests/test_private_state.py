"""mmpose_ext.private_state: every internal of another library the package
relies on still behaves as on the version it was verified on."""
import pytest
from mmengine.config import utils as config_utils

import mmpose_ext  # noqa: F401  (registers the config scope)
from mmpose_ext import private_state


def test_mmengine_config_scope_table():
    # MMEngine 0.10.7 resolves '<scope>::' through this table
    assert config_utils.MODULE2PACKAGE['mmpose'] == 'mmpose'
    assert config_utils.MODULE2PACKAGE['mmpose_ext'] == (
        'mmpose_ext.package_files')
    package, path = config_utils._get_package_and_cfg_path(
        'mmpose_ext::cpn/x.py')
    assert (package, path) == ('mmpose_ext.package_files', 'cpn/x.py')


@pytest.mark.parametrize('version, ok', [('0.10.7', True), ('0.10.9', True),
                                         ('0.10.6', False), ('0.11.0', False),
                                         ('1.0.0rc1', False)])
def test_mmengine_version_check(version, ok, monkeypatch):
    monkeypatch.delenv(private_state.ALLOW_ENV, raising=False)
    if ok:
        private_state.check_mmengine_version(version)
        return
    with pytest.raises(ImportError, match=f'this environment has MMEngine '
                       f'{version}.*mmengine==0.10.7'):
        private_state.check_mmengine_version(version)
    monkeypatch.setenv(private_state.ALLOW_ENV, '1')
    with pytest.warns(UserWarning, match='verified on MMEngine'):
        private_state.check_mmengine_version(version)


def test_installed_mmengine_is_verified():
    private_state.check_mmengine_version()
