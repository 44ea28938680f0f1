# Builds the status page into C++: `cmake -DPAGE_DIR=... -DOUTPUT=... -P embed.cmake` (service/CMakeLists.txt).
#
# Reads status.html, puts status.css and status.js in place of the lines that link them, drops what stands
# above the doctype (the notes for maintainers) and writes OUTPUT: a .cpp defining
# hooksim::service::kStatusPage (service/status_page.h) as one raw string literal. So the page served is
# one self-contained document, while the tree holds it as three files.
foreach(part html css js)
  file(READ "${PAGE_DIR}/status.${part}" ${part})
endforeach()

# A function, not a macro: a macro would re-read the page's text as CMake code.
function(replace_line line with)
  string(FIND "${html}" "${line}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "embed.cmake: status.html has no line '${line}'")
  endif()
  string(REPLACE "${line}" "${with}" replaced "${html}")
  set(html "${replaced}" PARENT_SCOPE)
endfunction()

string(FIND "${html}" "<!doctype html>" start)
if(start EQUAL -1)
  message(FATAL_ERROR "embed.cmake: status.html has no <!doctype html>")
endif()
string(SUBSTRING "${html}" ${start} -1 html)
replace_line("<link rel=\"stylesheet\" href=\"status.css\">\n" "<style>\n${css}</style>\n")
replace_line("<script src=\"status.js\"></script>\n" "<script>\n${js}</script>\n")

string(FIND "${html}" ")page\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "embed.cmake: the page contains )page\" and cannot be a raw string literal")
endif()
file(WRITE "${OUTPUT}"
  "// Generated from service/page/status.{html,css,js} by service/page/embed.cmake: do not edit.\n"
  "#include \"service/status_page.h\"\n\n"
  "namespace hooksim::service {\n"
  "const std::string_view kStatusPage = R\"page(${html})page\";\n"
  "}  // namespace hooksim::service\n")
