module example.com/hw3

go 1.27
