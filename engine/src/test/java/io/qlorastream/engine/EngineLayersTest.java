package io.qlorastream.engine;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The engine's packages form layers, each using only those below it, and no two packages depend on each other. The
 * kernels take a backend and the model applies its LoRA modules, so backends sit below kernels and lora below model.
 */
class EngineLayersTest {
    /** Bottom to top; a layer's packages (with their sub-packages) may use only the layers listed before it. */
    static final List<List<String>> LAYERS = List.of(
            List.of("tensor", "safetensors", "quant", "tokenizer", "data"),
            List.of("config"),
            List.of("compute"),
            List.of("kernels"),
            List.of("lora"),
            List.of("model"),
            List.of("export"),
            List.of("optim"),
            List.of("train"),
            List.of("bench"));

    static final JavaClasses ENGINE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.qlorastream.engine");

    static String[] packages(List<List<String>> layers) {
        return layers.stream().flatMap(List::stream).map(p -> "io.qlorastream.engine." + p + "..").toArray(String[]::new);
    }

    @Test
    void everyLayerUsesOnlyTheLayersBelowIt() {
        for (int i = 0; i < LAYERS.size() - 1; i++) {
            String[] layer = packages(LAYERS.subList(i, i + 1));
            String[] above = packages(LAYERS.subList(i + 1, LAYERS.size()));
            noClasses().that().resideInAnyPackage(layer).should().dependOnClassesThat().resideInAnyPackage(above)
                    .because(Arrays.toString(layer) + " lies below " + Arrays.toString(above))
                    .check(ENGINE);
        }
    }

    @Test
    void noTwoPackagesDependOnEachOther() {
        slices().matching("io.qlorastream.engine.(**)").should().beFreeOfCycles().check(ENGINE);
    }

    @Test
    void everyPackageIsInALayer() {
        noClasses().should().resideOutsideOfPackages(packages(LAYERS)).check(ENGINE);
    }
}
