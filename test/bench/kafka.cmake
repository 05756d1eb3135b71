# The Kafka benchmark (README.md, "The Kafka benchmark"): a bare librdkafka
# consumer and the `bench-kafka` target running kafka_bench.sh against this
# build.  Never registered with ctest.
add_executable(kafka_consumer kafka_consumer.c)
target_link_libraries(kafka_consumer PRIVATE PkgConfig::RDKAFKA)

add_custom_target(bench-kafka
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/kafka_bench.sh ${PROJECT_BINARY_DIR}
  DEPENDS sluice gen_flights kafka_consumer sluice-mock-broker
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  USES_TERMINAL
  COMMENT "Kafka benchmark (2M rows through the mock broker)")

# The latency benchmark (latency_bench.sh): a paced producer and a
# read-committed consumer timing each result against its input.
add_executable(latency_kafka latency_kafka.c)
target_link_libraries(latency_kafka PRIVATE PkgConfig::RDKAFKA Threads::Threads)
