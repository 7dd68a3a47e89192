"""The git edge: the only package that reads or writes the snapshots and versions repositories.

folder.py       find, create and lock a repository's folder
pack.py         objects kept in memory and written as packfiles
pathindex.py    which commit last changed each file (no history walks)
repository.py   one repository, written in-process (Repository)
worktree.py     its working tree and index: files replaced by rename, repairs, changes not by ota
provenance.py   who made each change of a record file: the last commit of a path, hand edits
records.py      Open Terms Archive's formats: paths, subjects, bodies, trailers
versions.py     recording a version: a change of the terms or of how they are extracted
extractions.py  what each version was last extracted from
writer.py       the recording process that owns both repositories during a run
recording.py    what runs in that process: hold, open, record on, close a repository
reader.py       a repository opened read-only (viewer, reports, verification)
blobs.py        many blobs read through one git cat-file process (verification)
changes.py      what changed in a declarations repository since its main branch (--modified)
declared.py     a declarations folder's git history, read-only
signing.py      SSH signatures of commits, made and checked in-process
timestamps.py   RFC 3161 timestamps kept as git notes
publish.py      pushing both repositories to their remote
"""
