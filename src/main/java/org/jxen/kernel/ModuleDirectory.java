package org.jxen.kernel;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a kernel finds its modules (Linux's {@code /lib/modules/$(uname -r)}): the {@link KernelModule}
 * services a class loader sees, through {@link ServiceLoader#load(Class, ClassLoader)}. The loader is the
 * kernel image: the class path of the host (the project's own modules), with the jars of {@code jxen host
 * --module-path} or of a guest's {@code kernel =} in front of it.
 *
 * <p>The directory lists what can be loaded, never what is: each lookup returns new instances, and a {@link Kernel}
 * keeps its own loaded modules. What a loader offers is read from its service files once per directory (a
 * loader's jars do not change under it), and the program's own class path has one directory for every kernel:
 * reading the service files of the whole class path again at each guest's boot was most of a guest's boot time.
 */
public final class ModuleDirectory {
    private static final ModuleDirectory CLASS_PATH = new ModuleDirectory(ModuleDirectory.class.getClassLoader());

    private final ClassLoader loader;
    /** Per service type, its providers in service-file order (classes found, not instances). */
    private final Map<Class<?>, List<ServiceLoader.Provider<?>>> providers = new ConcurrentHashMap<>();
    /** The modules' names and roles, learnt from one throwaway instance each, in service-file order. */
    private volatile List<Listing> listings;

    /** What a module class says of itself: its name and the kernels it is built into. */
    private record Listing(String name, java.util.Set<KernelRole> builtInto, ServiceLoader.Provider<?> provider) {
        KernelModule instance() {
            return (KernelModule) provider.get();
        }
    }

    private ModuleDirectory(ClassLoader loader) {
        this.loader = loader;
    }

    /** The modules {@code loader} sees. */
    public static ModuleDirectory of(ClassLoader loader) {
        return loader == CLASS_PATH.loader ? CLASS_PATH : new ModuleDirectory(loader);
    }

    /** The modules of this program's own class path. */
    public static ModuleDirectory classPath() {
        return CLASS_PATH;
    }

    /**
     * A class loader over {@code jars} whose parent is this program's (so their modules see jxen's classes and
     * are found next to the project's own); the caller closes it when the kernel that uses it is gone. Each jar
     * must exist: a missing one is an IOException naming it.
     */
    public static URLClassLoader jarLoader(List<Path> jars) throws IOException {
        URL[] urls = new URL[jars.size()];
        for (int i = 0; i < urls.length; i++) {
            Path jar = jars.get(i);
            if (!Files.isRegularFile(jar)) throw new IOException(jar + ": No such file or directory");
            try {
                urls[i] = jar.toUri().toURL();
            } catch (MalformedURLException e) {
                throw new IOException(jar + ": " + e.getMessage(), e);
            }
        }
        return new URLClassLoader("jxen-modules", urls, ModuleDirectory.class.getClassLoader());
    }

    public ClassLoader loader() {
        return loader;
    }

    /** Every module found, as fresh instances, in the order the service files list them. */
    public List<KernelModule> all() {
        return services(KernelModule.class);
    }

    /** The names of the modules found, sorted. */
    public List<String> names() {
        TreeSet<String> names = new TreeSet<>();
        for (KernelModule m : all()) names.add(m.name());
        return List.copyOf(names);
    }

    /** A fresh instance of the module called {@code name}, if there is one. */
    public Optional<KernelModule> find(String name) {
        for (Listing l : listings()) if (l.name().equals(name)) return Optional.of(l.instance());
        return Optional.empty();
    }

    /** Fresh instances of the modules built into a kernel of {@code role}, in service-file order. */
    public List<KernelModule> builtIn(KernelRole role) {
        return listings().stream().filter(l -> l.builtInto().contains(role)).map(Listing::instance).toList();
    }

    /**
     * Each module's name and roles, asked once per class (they are the class's, as {@link KernelModule} says): a
     * boot then makes only the modules it loads, not a throwaway instance of every module found per lookup.
     */
    private List<Listing> listings() {
        List<Listing> l = listings;
        if (l != null) return l;
        List<ServiceLoader.Provider<?>> found = providers(KernelModule.class);
        List<Listing> made = new java.util.ArrayList<>(found.size());
        try {
            for (ServiceLoader.Provider<?> p : found) {
                KernelModule m = (KernelModule) p.get();
                java.util.Set<KernelRole> roles = java.util.EnumSet.noneOf(KernelRole.class);
                for (KernelRole r : KernelRole.values()) if (m.builtInto(r)) roles.add(r);
                made.add(new Listing(m.name(), java.util.Collections.unmodifiableSet(roles), p));
            }
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        listings = l = List.copyOf(made);
        return l;
    }

    /**
     * The {@code service} implementations this directory's loader sees, as fresh instances, in service-file order
     * (modules, and kernel services that are not modules: the console). A service file naming a class that is
     * missing or of the wrong type is an IllegalStateException.
     */
    public <S> List<S> services(Class<S> service) {
        try {
            return providers(service).stream().map(p -> service.cast(p.get())).toList();
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private List<ServiceLoader.Provider<?>> providers(Class<?> service) {
        try {
            return providers.computeIfAbsent(service, s -> List.copyOf(ServiceLoader.load(s, loader).stream().toList()));
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
