/* pair_style ionnp: the short-range part of an ionnp potential, from a deployed TorchScript file
   (`ionnp export`). The Coulomb part is LAMMPS's own: overlay coul/long with kspace at the
   charges of the model's metadata (`ionnp lammps-input model.pt` prints the lines).

     pair_style hybrid/overlay ionnp zno.pt coul/long 10.0
     pair_coeff * * ionnp Zn O
     pair_coeff * * coul/long

   Keywords after the file: `device cpu|cuda` (cuda: one GPU per rank, ranks on a node share
   the node's GPUs round robin). Energies, forces and the virial (global and per atom: each
   pair's virial goes to its centre atom) are correct under MPI domain decomposition with
   newton pair on or off and in triclinic boxes. `compute ID all pair ionnp` gives, as c_ID[1],
   the ensemble's spread (population standard deviation over the members) of the total
   short-range energy, in eV. Units: metal. */

#ifdef PAIR_CLASS
// clang-format off
PairStyle(ionnp,PairIonnp);
// clang-format on
#else

#ifndef LMP_PAIR_IONNP_H
#define LMP_PAIR_IONNP_H

#include "pair.h"

#include <torch/script.h>

#include <string>
#include <vector>

namespace LAMMPS_NS {

class PairIonnp : public Pair {
 public:
  PairIonnp(class LAMMPS *);
  ~PairIonnp() override;
  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;
  int pack_reverse_comm(int, int, double *) override;
  void unpack_reverse_comm(int, int *, double *) override;
  double memory_usage() override;

 protected:
  std::string model_file;
  torch::jit::Module model;
  torch::Device device;
  std::vector<std::string> elements;    // the model's, species index = position
  double cutoff;
  int ensemble_size;
  int *species_of_type;    // LAMMPS type -> model species, -1 for NULL
  double **ghost_force;    // ghost atoms' forces with newton pair off (own reverse comm)
  int max_ghost_force;

  void allocate();
  void load_model();
  void select_device(const std::string &);
};

}    // namespace LAMMPS_NS

#endif
#endif
