# The Nexmark suite (test/nexmark/README.md): the event generator, the
# suite itself and the tests of its driver, labelled `nexmark`.
add_executable(nexmark_gen ${CMAKE_CURRENT_LIST_DIR}/nexmark_gen.c)
target_link_libraries(nexmark_gen PRIVATE m)

add_test(NAME nexmark/run_nexmark
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_nexmark.sh
                 --sluice $<TARGET_FILE:sluice> --gen $<TARGET_FILE:nexmark_gen>
                 --udf $<TARGET_FILE:sluice_count_char>
                 --work ${CMAKE_CURRENT_BINARY_DIR}/tmp/nexmark --events 20000 --rate 200)
add_test(NAME nexmark/test_nexmark_driver
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_nexmark_driver.sh
                 $<TARGET_FILE:nexmark_gen> ${CMAKE_CURRENT_BINARY_DIR}/tmp/nexmark_driver)
set_tests_properties(nexmark/run_nexmark nexmark/test_nexmark_driver PROPERTIES
  LABELS nexmark TIMEOUT 600 WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
