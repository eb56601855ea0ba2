package org.jxen.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.jxen.ring.FrontRing;

/**
 * A class path for a child JVM that runs jxen from a jar, as {@code ./jxen} does: jxen's main classes written into
 * one jar, then the libraries of this JVM's class path. A host out of descriptors still loads classes from an open
 * jar (a class directory needs a descriptor per class file), and a jar can be rewritten under a running guest.
 */
public final class ClassesJar {
    private ClassesJar() {
    }

    /** Writes the main classes into {@code jar}; the class path: that jar and the library jars. */
    public static String classPath(Path jar) throws IOException {
        Path classes = Path.of(FrontRing.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        try (var out = new JarOutputStream(Files.newOutputStream(jar)); var files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
        List<String> cp = new ArrayList<>(List.of(jar.toString()));
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (e.endsWith(".jar")) cp.add(e);
        }
        return String.join(File.pathSeparator, cp);
    }
}
