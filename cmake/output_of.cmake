# Runs COMMAND (a ;-list) and writes its standard output to OUT: generated
# files (a tool's bash completion) without a shell redirection.
execute_process(COMMAND ${COMMAND} OUTPUT_FILE "${OUT}" RESULT_VARIABLE failed)
if(failed)
  file(REMOVE "${OUT}")
  message(FATAL_ERROR "${COMMAND} failed: ${failed}")
endif()
