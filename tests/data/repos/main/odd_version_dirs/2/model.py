placeholder model file for infertune tests
