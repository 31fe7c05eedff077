not a version folder
