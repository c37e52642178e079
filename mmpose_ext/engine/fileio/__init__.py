from .atomic_local_backend import AtomicLocalBackend, write_atomically

__all__ = ['AtomicLocalBackend', 'write_atomically']
