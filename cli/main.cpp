// sjs: thin main over the CLI library.
#include "cli.hpp"

int main(int argc, char** argv) { return sjs::cli::run(argc, argv); }
