"""Compiled artifacts (DESIGN §5): submission dossiers (材料汇编) as PDF, merged dossier
bundles, and the files of the district roll-up (app.rollup). Files are written to a
temporary name and renamed into place; a row in ``artifact`` is written only once the file
is complete, so a half-written file is never offered for download."""
