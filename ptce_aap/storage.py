"""Placeholder: replaced by the storage service."""


def get_storage():
    raise NotImplementedError
