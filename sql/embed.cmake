# Writes a C file with the migration files as string constants, in file
# name order: { "001_init.sql", "<contents>" }, ...
set(body "/* Generated from sql/ by sql/embed.cmake. Do not edit. */\n#include <stddef.h>\n#include \"handoff/migrate.h\"\n\nconst migrate_file_t migrate_files[] = {\n")
set(count 0)
foreach(f IN LISTS FILES)
  get_filename_component(name ${f} NAME)
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" esc "${hex}")
  # Split the literal so that no single string exceeds compiler limits.
  string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){64})" "\\1\"\n\"" esc "${esc}")
  string(APPEND body "\t{ \"${name}\",\n\"${esc}\" },\n")
  math(EXPR count "${count} + 1")
endforeach()
string(APPEND body "};\nconst size_t migrate_nfiles = ${count};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
