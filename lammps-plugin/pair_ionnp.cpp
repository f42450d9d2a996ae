/* pair_style ionnp: see pair_ionnp.h.

   The deployed module (ionnp/deploy/module.py, DeployedEnsemble) takes the pairs of a full
   neighbour list as vectors v_p = r_j - r_i (centre i local, neighbour j local or ghost) and
   returns every member's per-atom energies of the local atoms and g_p = dE_mean/dv_p. Then

     F_i += g_p,   F_j -= g_p,   W = -sum_p v_p (x) g_p,

   each pair's virial going to its centre atom (the atom whose energy it belongs to). Ghost
   forces reach their owners by LAMMPS's reverse communication with newton pair on, by this
   style's own with newton pair off. */

#include "pair_ionnp.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "json.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "utils.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;

static constexpr const char *METADATA_FILE = "ionnp.json";
static constexpr const char *DEPLOYED_FORMAT = "ionnp.deployed";
static constexpr int DEPLOYED_VERSION = 1;

PairIonnp::PairIonnp(LAMMPS *lmp) :
    Pair(lmp), device(torch::kCPU), cutoff(0.0), ensemble_size(0), species_of_type(nullptr),
    ghost_force(nullptr), max_ghost_force(0)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the virial is tallied per pair (right with newton off too)
  centroidstressflag = CENTROID_NOTAVAIL;
  comm_reverse = 3;
  comm_reverse_off = 3;
  nextra = 1;
  pvector = new double[nextra];
  pvector[0] = 0.0;
  // The graph executor's optimisations (fusion, specialisation on the first calls) change
  // nothing for this module but the first steps' cost; the plain interpreter is deterministic.
  torch::jit::setGraphExecutorOptimize(false);
}

PairIonnp::~PairIonnp()
{
  delete[] pvector;
  memory->destroy(ghost_force);
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
    delete[] species_of_type;
  }
}

void PairIonnp::allocate()
{
  allocated = 1;
  int n = atom->ntypes + 1;
  memory->create(setflag, n, n, "pair:setflag");
  memory->create(cutsq, n, n, "pair:cutsq");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) setflag[i][j] = 0;
  species_of_type = new int[n];
  for (int i = 0; i < n; i++) species_of_type[i] = -1;
}

/* pair_style ionnp FILE [device cpu|cuda] */

void PairIonnp::settings(int narg, char **arg)
{
  if (narg < 1) error->all(FLERR, "Illegal pair_style ionnp command: pair_style ionnp FILE [device cpu|cuda]");
  model_file = arg[0];
  std::string device_name = "cpu";
  for (int iarg = 1; iarg < narg; iarg += 2) {
    if (iarg + 1 >= narg) error->all(FLERR, "pair_style ionnp: keyword {} needs a value", arg[iarg]);
    if (strcmp(arg[iarg], "device") == 0)
      device_name = arg[iarg + 1];
    else
      error->all(FLERR, "pair_style ionnp: unknown keyword {} (known: device)", arg[iarg]);
  }
  select_device(device_name);
  load_model();
}

void PairIonnp::select_device(const std::string &name)
{
  if (name == "cpu") {
    device = torch::Device(torch::kCPU);
  } else if (name == "cuda") {
    if (!torch::cuda::is_available())
      error->all(FLERR, "pair_style ionnp: device cuda asked, but this libtorch has no CUDA or sees no GPU");
    // One GPU per rank: the ranks of a node take the node's GPUs round robin.
    MPI_Comm node;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &node);
    int node_rank;
    MPI_Comm_rank(node, &node_rank);
    MPI_Comm_free(&node);
    int count = static_cast<int>(torch::cuda::device_count());
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(node_rank % count));
  } else {
    error->all(FLERR, "pair_style ionnp: device {} is not cpu or cuda", name);
  }
}

void PairIonnp::load_model()
{
  torch::jit::ExtraFilesMap extra{{METADATA_FILE, ""}};
  try {
    model = torch::jit::load(model_file, torch::kCPU, extra);
  } catch (const c10::Error &e) {
    error->all(FLERR, "pair_style ionnp: {} is not a TorchScript file ({})", model_file,
               e.what_without_backtrace());
  }
  if (extra[METADATA_FILE].empty())
    error->all(FLERR, "pair_style ionnp: {} has no ionnp metadata ({}); write it with `ionnp export`",
               model_file, METADATA_FILE);
  json meta;
  try {
    meta = json::parse(extra[METADATA_FILE]);
  } catch (const std::exception &e) {
    error->all(FLERR, "pair_style ionnp: {}: unreadable metadata ({})", model_file, e.what());
  }
  if (meta.value("format", "") != DEPLOYED_FORMAT)
    error->all(FLERR, "pair_style ionnp: {} is not a deployed ionnp model", model_file);
  if (meta.value("version", -1) != DEPLOYED_VERSION)
    error->all(FLERR, "pair_style ionnp: {} is deployed model version {}, this pair style reads {}; "
               "export it again", model_file, meta.value("version", -1), DEPLOYED_VERSION);
  elements = meta["elements"].get<std::vector<std::string>>();
  cutoff = meta["cutoff"].get<double>();
  ensemble_size = meta["ensemble_size"].get<int>();
  model.eval();
  model.to(device);
  if (comm->me == 0) {
    std::string charges;
    for (auto &item : meta["coulomb_charges"].items())
      charges += fmt::format(" {} {:+.6f}", item.key(), item.value().get<double>());
    utils::logmesg(lmp, "pair_style ionnp: {} ({} members, cut-off {} A, on {}, {} torch threads per "
                   "rank: OMP_NUM_THREADS); Coulomb charges:{}\n", model_file, ensemble_size, cutoff,
                   device.str(), at::get_num_threads(), charges);
  }
}

/* pair_coeff * * ELEMENT_OF_TYPE_1 ELEMENT_OF_TYPE_2 ... */

void PairIonnp::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  int ntypes = atom->ntypes;
  if (narg != 2 + ntypes || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff for ionnp: pair_coeff * * then one element per atom type ({} types)",
               ntypes);
  for (int t = 1; t <= ntypes; t++) {
    std::string name = arg[1 + t];
    int species = -1;
    for (int k = 0; k < static_cast<int>(elements.size()); k++)
      if (elements[k] == name) species = k;
    if (species < 0) {
      std::string known;
      for (auto &e : elements) known += " " + e;
      error->all(FLERR, "pair_coeff for ionnp: element {} of atom type {} is not among {}'s elements:{}",
                 name, t, model_file, known);
    }
    species_of_type[t] = species;
  }
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) setflag[i][j] = 1;
}

void PairIonnp::init_style()
{
  if (model_file.empty()) error->all(FLERR, "pair_style ionnp: no model file");
  neighbor->add_request(this, NeighConst::REQ_FULL);
}

double PairIonnp::init_one(int i, int j)
{
  if (setflag[i][j] == 0) error->all(FLERR, "pair_coeff for ionnp: not set for types {} {}", i, j);
  return cutoff;
}

void PairIonnp::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  double **x = atom->x;
  double **f = atom->f;
  int *type = atom->type;
  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
  const int newton = force->newton_pair;
  const double cutoff_squared = cutoff * cutoff;

  auto species = torch::empty({nall}, torch::kInt64);
  auto species_of = species.accessor<int64_t, 1>();
  for (int k = 0; k < nall; k++) species_of[k] = species_of_type[type[k]];

  std::vector<int64_t> centers, neighbors;
  std::vector<double> vectors;
  for (int ii = 0; ii < list->inum; ii++) {
    const int i = list->ilist[ii];
    const int *jlist = list->firstneigh[i];
    for (int jj = 0; jj < list->numneigh[i]; jj++) {
      const int j = jlist[jj] & NEIGHMASK;
      const double dx = x[j][0] - x[i][0], dy = x[j][1] - x[i][1], dz = x[j][2] - x[i][2];
      if (dx * dx + dy * dy + dz * dz >= cutoff_squared) continue;
      centers.push_back(i);
      neighbors.push_back(j);
      vectors.insert(vectors.end(), {dx, dy, dz});
    }
  }
  const int64_t npairs = static_cast<int64_t>(centers.size());
  auto as_long = torch::TensorOptions().dtype(torch::kInt64);
  auto as_double = torch::TensorOptions().dtype(torch::kFloat64);
  auto center_t = torch::from_blob(centers.data(), {npairs}, as_long).to(device);
  auto neighbor_t = torch::from_blob(neighbors.data(), {npairs}, as_long).to(device);
  auto vector_t = torch::from_blob(vectors.data(), {npairs, 3}, as_double).to(device);

  auto output = model.forward({species.to(device), center_t, neighbor_t, vector_t,
                               static_cast<int64_t>(nlocal), false}).toTuple();
  auto energies = output->elements()[0].toTensor().to(torch::kCPU).contiguous();    // (K, nlocal)
  auto gradient = output->elements()[1].toTensor().to(torch::kCPU).contiguous();    // (P, 3)
  auto e = energies.accessor<double, 2>();
  auto g = gradient.accessor<double, 2>();

  if (!newton) {
    if (nall > max_ghost_force) {
      max_ghost_force = atom->nmax;
      memory->grow(ghost_force, max_ghost_force, 3, "pair:ghost_force");
    }
    for (int k = nlocal; k < nall; k++) ghost_force[k][0] = ghost_force[k][1] = ghost_force[k][2] = 0.0;
  }
  for (int64_t p = 0; p < npairs; p++) {
    const int i = static_cast<int>(centers[p]), j = static_cast<int>(neighbors[p]);
    double *fj = (j < nlocal || newton) ? f[j] : ghost_force[j];
    for (int a = 0; a < 3; a++) {
      f[i][a] += g[p][a];
      fj[a] -= g[p][a];
    }
    if (vflag_either) {
      const double *v = &vectors[3 * p];
      const double w[6] = {-v[0] * g[p][0], -v[1] * g[p][1], -v[2] * g[p][2],
                           -0.5 * (v[0] * g[p][1] + v[1] * g[p][0]),
                           -0.5 * (v[0] * g[p][2] + v[2] * g[p][0]),
                           -0.5 * (v[1] * g[p][2] + v[2] * g[p][1])};
      for (int a = 0; a < 6; a++) {
        if (vflag_global) virial[a] += w[a];
        if (vflag_atom) vatom[i][a] += w[a];
      }
    }
  }
  if (!newton) comm->reverse_comm(this);

  std::vector<double> member_totals(ensemble_size, 0.0);
  for (int i = 0; i < nlocal; i++) {
    double mean = 0.0;
    for (int k = 0; k < ensemble_size; k++) {
      mean += e[k][i];
      member_totals[k] += e[k][i];
    }
    mean /= ensemble_size;
    if (eflag_global) eng_vdwl += mean;
    if (eflag_atom) eatom[i] += mean;
  }
  if (eflag_global) {
    // The spread of the whole system's energy; compute pair sums pvector over ranks, so only
    // rank 0 holds it.
    std::vector<double> totals(ensemble_size, 0.0);
    MPI_Allreduce(member_totals.data(), totals.data(), ensemble_size, MPI_DOUBLE, MPI_SUM, world);
    double mean = 0.0, variance = 0.0;
    for (double t : totals) mean += t / ensemble_size;
    for (double t : totals) variance += (t - mean) * (t - mean) / ensemble_size;
    pvector[0] = comm->me == 0 ? std::sqrt(variance) : 0.0;
  }
}

int PairIonnp::pack_reverse_comm(int n, int first, double *buf)
{
  int m = 0;
  for (int i = first; i < first + n; i++) {
    buf[m++] = ghost_force[i][0];
    buf[m++] = ghost_force[i][1];
    buf[m++] = ghost_force[i][2];
  }
  return m;
}

void PairIonnp::unpack_reverse_comm(int n, int *list, double *buf)
{
  // A receiving atom may itself be a ghost (of an earlier swap): its sum travels on.
  const int nlocal = atom->nlocal;
  int m = 0;
  for (int i = 0; i < n; i++) {
    const int j = list[i];
    double *fj = j < nlocal ? atom->f[j] : ghost_force[j];
    fj[0] += buf[m++];
    fj[1] += buf[m++];
    fj[2] += buf[m++];
  }
}

double PairIonnp::memory_usage()
{
  return Pair::memory_usage() + 3.0 * sizeof(double) * max_ghost_force;
}
