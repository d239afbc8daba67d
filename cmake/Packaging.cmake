# Install rules for the systemd units, and the Debian package (CPack DEB).
# The binaries, man pages and completions are installed by the top-level CMakeLists.txt; the jars
# (share/sjs/sjs-runner.jar, share/sjs/sjs-api.jar) by runtimes/jvm/CMakeLists.txt.
#   cd build && cpack -G DEB      ->  build/sjs_<version>_<arch>.deb
# See packaging/README.md.
include(GNUInstallDirs)

# Units: the system service, and the per-user one under the same unit name.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/sjsd.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/sjsd.user.service DESTINATION lib/systemd/user
        RENAME sjsd.service)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sjs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "sjs developers")
set(CPACK_PACKAGE_CONTACT "sjs developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "job server for Spark and other workloads (sjs CLI and sjsd daemon)")
set(CPACK_PACKAGE_DESCRIPTION
    "sjs is a command-line client and sjsd a daemon that queues and runs jobs on warm contexts (executables, and jars on resident JVMs or Spark drivers) and records binaries, contexts, jobs, results and logs durably in LMDB. Includes the JVM runner and job API jars, man pages, bash/zsh/fish completions and systemd units.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_MAINTAINER "sjs developers")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# A JRE runs jvm contexts: sjs-runner.jar is Java 8 bytecode, so any JRE 8 or later will do.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "liblmdb0, libspdlog1.10, libfmt9, libssl3, default-jre-headless | java8-runtime-headless")
# python3 runs python and pyspark contexts (the runner is standard library only) and compile-checks .py uploads.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# postinst creates the system user `sjs` for sjsd.service; prerm stops the service on removal.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
