# mmpose_ext's engine components, switched on by every config of the package
# so that MMPose's stock tools/train.py and tools/test.py behave as ours:
# atomic checkpoints, refusal of checkpoints that do not fit the model, the
# NaN/inf stop, unreadable-image handling, AMP that also runs on the CPU,
# and the fast path: channels-last weights (fast_path.channels_last) and,
# with MMEngine's compile=True, a compiled network (see mmpose_ext/engine/).
# MMEngine refuses a key that two bases both define, so a config over an
# MMPose base lists this file after it and adds the pieces to its own keys
# (a config outside this package names it by scope:
# 'mmpose_ext::_base_/mmpose_ext_runtime.py'):
#   _base_ = ['mmpose::...', '../_base_/mmpose_ext_runtime.py']
#   default_hooks = _base_.mmpose_ext_default_hooks
#   optim_wrapper = _base_.mmpose_ext_optim_wrapper
# A derived config switches one off with, e.g.,
# default_hooks = dict(non_finite_loss=None).
custom_imports = dict(imports=['mmpose_ext'], allow_failed_imports=False)
mmpose_ext_default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),
    checkpoint_fit=dict(type='CheckpointFitHook'),
    # channels-last: faster for every model family (docs/fast_path.md)
    fast_path=dict(type='FastPathHook', channels_last=True),
    non_finite_loss=dict(type='NonFiniteLossHook'),
    unreadable_image=dict(type='UnreadableImageHook'))
mmpose_ext_optim_wrapper = dict(constructor='CpuAmpOptimWrapperConstructor')
# multi-process runs: the network channels-last before DDP lays out its
# gradient buckets (MMEngine's default wrapper arguments otherwise; a model
# with unused parameters sets model_wrapper_cfg.find_unused_parameters=True;
# scoped, since MMEngine's runner looks the type up in its root registry)
model_wrapper_cfg = dict(
    type='mmpose.ChannelsLastDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
