# The flights benchmark (README.md): data generator, simdjson reference, and
# the `bench` target that runs run_bench.sh against this build.  Built with
# the normal build, never registered with ctest.
add_executable(gen_flights gen_flights.c)

add_executable(ref_simdjson ref_simdjson.cpp)
target_link_libraries(ref_simdjson PRIVATE PkgConfig::SIMDJSON)

add_custom_target(bench
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/run_bench.sh ${PROJECT_BINARY_DIR}
          ${PROJECT_BINARY_DIR}/bench/flights.json
  DEPENDS sluice gen_flights ref_simdjson
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  USES_TERMINAL
  COMMENT "Flights benchmark (2M rows; 20M rows for peak RSS)")
