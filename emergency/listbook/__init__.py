"""The city's list workbook (应急减排清单): a spreadsheet in, a data folder out, and back.

``emergency list template`` writes an empty workbook, ``emergency list import`` turns a
workbook into a data folder (:mod:`emergency.listbook.read`), ``emergency list export``
writes a data folder back as a workbook (:mod:`emergency.listbook.write`). The sheets,
columns, vocabularies and units are described in docs/LIST.md.
"""
