"""The git edge: the only package that reads or writes the snapshots and versions repositories.

folder.py      find, create and lock a repository's folder
pack.py        objects kept in memory and written as packfiles
pathindex.py   which commit last changed each file (no history walks)
repository.py  one repository, written in-process (Repository)
records.py     Open Terms Archive's formats: paths, subjects, bodies, trailers
writer.py      the recording process that owns both repositories during a run
"""
