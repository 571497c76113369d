/* mpx_manager.c - the mpx-manager program: the command line of main.c (mpx_server_main)
 * with the built-in types only. A program with types of its own calls mpx_server_main
 * with a setup function that registers them (examples/custom_type.c).
 */
#include "mpx/server.h"

int main(int argc, char **argv)
{
    return mpx_server_main(argc, argv, NULL, NULL);
}
