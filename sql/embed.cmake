# Writes a C file with the migration files as string constants, in file
# name order: { "001_init.sql", "<contents>" }, ... (see handoff/migrate.h).
# Run as a script: cmake -DOUT=file.c "-DFILES=a.sql;b.sql" -P embed.cmake
#
# Every byte is written as a \xNN escape, so no quote, backslash, trigraph or
# non-ASCII byte of the SQL can change the C literal; the literal is split
# every 64 bytes so that no single piece grows beyond what a compiler takes.
if(NOT DEFINED OUT)
  message(FATAL_ERROR "embed.cmake: OUT (the C file to write) is not set")
endif()
list(LENGTH FILES nfiles)
if(nfiles EQUAL 0)
  message(FATAL_ERROR "embed.cmake: no migration files (sql/NNN_*.sql) to embed")
endif()
# The runner applies them in array order, so the order must not depend on
# the caller's glob.
list(SORT FILES)

# CMake's regular expressions have no {n} repetition: spell out 64 bytes.
string(REPEAT "\\\\x[0-9a-f][0-9a-f]" 64 piece)

set(body "/* Generated from sql/ by sql/embed.cmake. Do not edit. */\n#include <stddef.h>\n#include \"handoff/migrate.h\"\n\nconst migrate_file_t migrate_files[] = {\n")
set(count 0)
foreach(f IN LISTS FILES)
  get_filename_component(name ${f} NAME)
  if(NOT name MATCHES "^[0-9][0-9][0-9]_[A-Za-z0-9_.-]+\\.sql$")
    message(FATAL_ERROR "embed.cmake: ${f}: a migration is named NNN_name.sql, with letters, digits, '_', '.' or '-'")
  endif()
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" esc "${hex}")
  string(REGEX REPLACE "(${piece})" "\\1\"\n\"" esc "${esc}")
  string(APPEND body "\t{ \"${name}\",\n\"${esc}\" },\n")
  math(EXPR count "${count} + 1")
endforeach()
string(APPEND body "};\nconst size_t migrate_nfiles = ${count};\n")

# Write a temporary file and rename it, so that an interrupted build never
# leaves a truncated file that looks up to date.
file(WRITE ${OUT}.tmp "${body}")
file(RENAME ${OUT}.tmp ${OUT})
