# Read by cpack before it packages (CPACK_PROJECT_CONFIG_FILE). A Debian
# package installs under /usr: a build configured for another prefix would
# make one that installs under it, with a unit naming those paths.
if(CPACK_GENERATOR STREQUAL "DEB" AND
   NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "the Debian package needs a build configured with "
    "-DCMAKE_INSTALL_PREFIX=/usr (this one has "
    "${CPACK_PACKAGING_INSTALL_PREFIX})")
endif()
